import os
import os.path as osp
import shutil
import sys
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
#: What the package ships under ``mmsemanticmim/.mim/`` (as OpenMMLab's
#: packages do, for ``mim`` and mmengine's ``mmsemanticmim::`` configs).
MIM_ENTRIES = ('configs', 'tools', 'model-index.yml')


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


def _remove(path):
    if osp.islink(path) or osp.isfile(path):
        os.remove(path)
    elif osp.isdir(path):
        shutil.rmtree(path)


def link_mim_entries():
    """Editable installs: ``mmsemanticmim/.mim/*`` link to the checkout's
    folders, so edits show at once (the links are not committed)."""
    mim = osp.join(HERE, 'mmsemanticmim', '.mim')
    os.makedirs(mim, exist_ok=True)
    for entry in MIM_ENTRIES:
        target = osp.join(mim, entry)
        _remove(target)
        os.symlink(osp.join('..', '..', entry), target)


class BuildPyWithMim(build_py):
    """Wheels (also when built from an sdist): copies of the configs, tools
    and model index into the built package's ``.mim/``. The source tree is
    left alone, so an editable checkout keeps its links."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        mim = osp.join(self.build_lib, 'mmsemanticmim', '.mim')
        for entry in MIM_ENTRIES:
            src, dst = osp.join(HERE, entry), osp.join(mim, entry)
            _remove(dst)
            os.makedirs(mim, exist_ok=True)
            if osp.isdir(src):
                shutil.copytree(
                    src,
                    dst,
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                shutil.copyfile(src, dst)


if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
    link_mim_entries()

setup(
    name='mmsemanticmim',
    version=read_version(),
    description='SemanticMIM self-supervised ViT pre-training and transfer '
    'on the OpenMMLab stack',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    keywords='self-supervised learning, masked image modeling, '
    'vision transformer, OpenMMLab',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'tests.*')),
    cmdclass={'build_py': BuildPyWithMim},
    python_requires='>=3.9',
    # torch and torchvision are the user's (a build for their platform,
    # installed first, as OpenMMLab's packages expect); mmcv must be built
    # with its ops, so the OpenMMLab packages are the `mim` extra, as in
    # OpenMMLab's own packages. `import mmsemanticmim` names what is missing.
    install_requires=read_requirements('runtime'),
    extras_require={
        'mim':
        read_requirements('mminstall'),
        'tests':
        read_requirements('tests'),
        'optional':
        read_requirements('optional'),
        'all':
        read_requirements('mminstall') + read_requirements('tests') +
        read_requirements('optional'),
    },
    license='Apache License 2.0',
    classifiers=[
        'License :: OSI Approved :: Apache Software License',
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
    zip_safe=False,
)
