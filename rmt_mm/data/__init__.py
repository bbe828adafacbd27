from .synthetic import (make_ade_semantic_set, make_classification_set,
                        make_coco_instance_set)

__all__ = ['make_ade_semantic_set', 'make_classification_set', 'make_coco_instance_set']
