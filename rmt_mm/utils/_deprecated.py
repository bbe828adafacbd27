"""Old module paths of this release, kept working with a deprecation message."""
import importlib
import warnings


def forward(old: str, new: str):
    """The module ``new``, with a DeprecationWarning that ``old`` moved there."""
    warnings.warn(f'{old} is deprecated and will be removed in the next release; '
                  f'import {new} instead', DeprecationWarning, stacklevel=3)
    return importlib.import_module(new)
