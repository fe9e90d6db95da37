-- Run once by the postgres image on an empty data volume (compose.yaml mounts it into
-- /docker-entrypoint-initdb.d). POSTGRES_DB creates the mimicry store's database; the Prefect
-- server keeps its own.
CREATE DATABASE prefect OWNER mimicry;
