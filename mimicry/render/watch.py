"""The words of the WATCHER: its decisions as table rows, and a decision's approval form in
the Prefect UI."""

from __future__ import annotations

from mimicry.render.text import plain_markdown


def approval_form_text(view, seconds_left: int) -> str:
    """The approval form's description in the Prefect UI (markdown) for a decision (a
    :class:`mimicry.store.decisions.DecisionView`). Rules, reasons and proposals may quote a
    stream's name, a note or an advisor's words: escaped, so the UI shows them as written and
    never as a link, an image or HTML."""
    md = plain_markdown
    triggers = "\n".join(f"- {md(t['name'])}: {md(t['reason'])}" for t in view.triggers)
    proposals = "\n".join(
        f"- {md(str(v['parameter']))} -> {v['value']:g}: {md(v['rule'])}" for v in view.proposals
    )
    return (
        f"**Decision {view.id}**: {md(view.action)} ({md(view.rule)})\n\n"
        f"Why a person: {md(view.approval['rule'])}\n\nTriggers:\n{triggers or '- none'}\n\n"
        f"Proposed changes:\n{proposals or '- none'}\n\n"
        f"Answer within {seconds_left} s; no answer rejects it."
    )


def decision_rows(views) -> list[dict[str, str]]:
    """Decisions (:class:`mimicry.store.decisions.DecisionView`) as table rows; a person's note
    beside what became of the decision."""
    return [
        {
            "id": str(v.id),
            "stream": v.stream,
            "when": f"{v.created_at:%Y-%m-%d %H:%M:%S}",
            "triggers": ", ".join(t["name"] for t in v.triggers) or "-",
            "action": v.action,
            "status": str(v.status),
            "run": v.run_id or "-",
            "why": (v.outcome or v.rule)
            + (f' ("{v.approval["note"]}")' if v.approval.get("note") else ""),
        }
        for v in views
    ]
