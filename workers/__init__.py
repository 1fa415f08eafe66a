"""The Celery side of fusiondesk: workers that run plugin encoders behind a Redis broker."""
