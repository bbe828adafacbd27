from .checkpoint import load_backbone_checkpoint, register_safe_globals, safe_globals

__all__ = ['load_backbone_checkpoint', 'register_safe_globals', 'safe_globals']
