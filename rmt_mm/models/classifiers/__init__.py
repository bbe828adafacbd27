from .token_label import TokenLabelClassifier

__all__ = ['TokenLabelClassifier']
