"""Performance suite and the pure-Mesa reference model used as a docking oracle."""
