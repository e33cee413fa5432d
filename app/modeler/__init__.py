"""Process owners edit, validate, version, publish and migrate models and forms in the browser."""
