"""The synthetic demo district: interchange files with documented, planted effects (ground_truth.json)."""
