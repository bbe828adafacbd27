"""Training-time parts of rmt_mm (optimizer wrapper constructors, hooks)."""
