"""Helpers below the model layer: drawing predictions and datasets (visualization)."""
