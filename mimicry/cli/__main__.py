from mimicry.cli import app

app()
