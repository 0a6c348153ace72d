import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    """Requirement lines of requirements/{name}.txt (comments dropped)."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


def read_version():
    scope = {}
    with open(osp.join(HERE, 'mmsemanticmim', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmsemanticmim',
    version=read_version(),
    description='SemanticMIM self-supervised ViT pre-training and transfer '
    'on the OpenMMLab stack',
    long_description=open(osp.join(HERE, 'README.md')).read()
    if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    python_requires='>=3.9',
    # mmcv must be built with its ops (see docs/get_started.md), so the OpenMMLab packages
    # are an extra, as in the OpenMMLab repos (`mim install` / mminstall.txt).
    install_requires=read_requirements('runtime'),
    extras_require={
        'mim': read_requirements('mminstall'),
        'tests': read_requirements('tests'),
        'optional': read_requirements('optional'),
        'all': read_requirements('mminstall') + read_requirements('tests') +
        read_requirements('optional'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
