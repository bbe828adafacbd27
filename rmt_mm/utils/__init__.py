"""Helpers below the model layer: what torch versions lack (torch_api), atomic checkpoint files
(fileio), mmengine's logs (logs), the task table (tasks), drawing predictions and datasets
(visualization)."""
