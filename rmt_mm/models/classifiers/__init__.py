from .hub import register_model_index
from .token_label import TokenLabelClassifier

register_model_index()  # mmpretrain is imported here anyway (see .hub)

__all__ = ['TokenLabelClassifier', 'register_model_index']
