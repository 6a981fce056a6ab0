"""Recognition rules: how clusters come to be (placeholder, filled below)."""
RECOGNITION: dict = {}
