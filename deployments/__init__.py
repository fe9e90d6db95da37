"""Work-pool templates, Dask cluster launchers and schedules (filled by the platform issue)."""
