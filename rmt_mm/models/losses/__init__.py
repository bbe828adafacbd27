from .token_label import TokenLabelCrossEntropy, token_label_targets

__all__ = ['TokenLabelCrossEntropy', 'token_label_targets']
