"""A small Celery app for the tests: real tasks, broker from CELERY_BROKER_URL."""

import os
import time

from celery import Celery

app = Celery("stratum_test", broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_default_queue="default",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_prefetch_multiplier=1,
)


@app.task(name="stratum_test.add")
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="stratum_test.sleep")
def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds
