#!/usr/bin/env bash
# Register the deployments of prefect.yaml (pipeline/full, sieve/adhoc) with the Prefect server,
# creating their work pool first, then the automations of deployments/automations.py (a webhook
# call for each event an operator wants to hear about, with MIMICRY_ALERT_WEBHOOK_URL set). Safe
# to re-run: it updates the deployments and replaces the automations.
#
#   PREFECT_API_URL=http://HOST:4200/api deployments/deploy.sh            # every deployment
#   PREFECT_API_URL=http://HOST:4200/api deployments/deploy.sh -n full    # prefect deploy options
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mimicry_require prefect

"$(dirname "${BASH_SOURCE[0]}")/create-work-pool.sh"
cd "$MIMICRY_PROJECT_DIR"
if [ "$#" -eq 0 ]; then
    set -- --all
fi
# Prefect resolves an environment placeholder in a pull step when the deploying shell has the
# variable: unset here, {{ $MIMICRY_PROJECT_DIR }} stays in the deployment and is resolved on
# the worker that runs each flow run (its own checkout), not baked in from this machine.
env -u MIMICRY_PROJECT_DIR \
    prefect --no-prompt deploy --prefect-file "$MIMICRY_PROJECT_DIR/prefect.yaml" "$@"
# The automations that turn mimicry's events into webhook calls (MIMICRY_ALERT_WEBHOOK_URL).
exec python -m deployments.automations
