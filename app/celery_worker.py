"""Entry point for Celery workers in the scale-out mode (``celery -A app.celery_worker worker -B``)."""

from app import create_app
from app.background import make_celery

flask_app = create_app()
celery = make_celery(flask_app)
