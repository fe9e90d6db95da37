from mimicry_cli import app

app()
