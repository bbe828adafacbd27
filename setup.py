"""rmt_mm: the RMT backbone (CVPR 2024) for OpenMMLab 2.0.

Like mmdet and mmseg, the ``configs/`` and ``tools/`` folders are shipped inside the package
under ``rmt_mm/.mim`` so that a pip-installed rmt_mm can be used with ``mim`` and downstream
configs can inherit ours (``_base_ = ['mmdet::...']`` style, see README).
"""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version():
    namespace = {}
    with open(osp.join(HERE, 'rmt_mm', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def add_mim_extension():
    """Link configs/, tools/ and model-index.yml into rmt_mm/.mim.

    Always links, never copies: a wheel built from the checkout takes the files the links point
    to (setuptools follows them), and an editable install keeps serving the checkout's
    configs. In a source tree without them (an unpacked sdist, whose .mim holds the files
    themselves) nothing is touched.
    """
    mim_path = osp.join(HERE, 'rmt_mm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in ('configs', 'tools', 'model-index.yml'):
        src, dst = osp.join(HERE, name), osp.join(mim_path, name)
        if not osp.exists(src):
            continue
        link = osp.relpath(src, mim_path)
        if osp.islink(dst) and os.readlink(dst) == link:
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        os.symlink(link, dst)


def read_requirements(name: str) -> list[str]:
    with open(osp.join(HERE, 'requirements', name)) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


add_mim_extension()

setup(
    name='rmt_mm',
    version=read_version(),
    description='RMT (Retentive Networks Meet Vision Transformers) for OpenMMLab 2.0: '
    'mmpretrain, mmdet and mmseg',
    long_description=(open(osp.join(HERE, 'README.md')).read()
                      if osp.exists(osp.join(HERE, 'README.md')) else ''),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    # Tested with 3.10 to 3.12 (docs/compatibility.md); import rmt_mm says so on others.
    python_requires='>=3.10',
    packages=find_packages(include=['rmt_mm', 'rmt_mm.*']),
    include_package_data=True,
    package_data={'rmt_mm': ['.mim/configs/**/*', '.mim/tools/**/*', '.mim/model-index.yml']},
    # Only what rmt_mm needs whatever the stack. torch, mmcv (built for that torch), mmengine,
    # mmdet, mmseg and mmpretrain are the user's: pip must never replace them, so they are
    # checked at import against the tested ranges (rmt_mm/version.py) instead of pinned here.
    # The tested pins: requirements/stack.txt, installed by tools/setup_env.sh.
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    zip_safe=False,
)
