"""How mimicry is run on a rig: shell launchers for the Prefect server, work pool, deployments
and worker, and for the Dask scheduler and workers (one per GPU, pinned). See docs/deploy.md;
schedules come later."""
