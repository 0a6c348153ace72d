"""The README and docs name only flags that the tools' ``--help`` lists,
and link only to pages that exist."""
import functools
import glob
import os.path as osp
import re
import subprocess
import sys

import pytest

from helpers import REPO

PAGES = [osp.join(REPO, 'README.md')] + sorted(
    glob.glob(osp.join(REPO, 'docs', '*.md')))
#: Shell launchers whose extra arguments go to tools/train.py.
TO_TRAIN = ('tools/dist_train.sh', 'tools/slurm_train.sh',
            'tools/benchmarks/dist_train_downstream.sh')
#: Shell tools with flags of their own, and the script that takes the rest.
SHELL_OWN = {
    'tools/profiling/gpu_check.sh':
    ({'--dry-run'}, 'tools/profiling/gpu_check.py')
}
TOOL = re.compile(r'(tools/[\w/]+\.(?:py|sh))')
FLAG = re.compile(r'(?<![\w-])(--[a-z][a-z0-9-]*)')


def _commands(path):
    """(tool, text) for each command line of code blocks (continuation
    lines joined) and each table row that starts with a tool."""
    text = open(path).read()
    out = []
    for block in re.findall(r'```(?:bash|sh)?\n(.*?)```', text, re.S):
        for line in block.replace('\\\n', ' ').splitlines():
            line = line.split('#')[0]
            match = TOOL.search(line)
            if match:
                out.append((match.group(1), line[match.end():]))
    for row in re.findall(r'^\| `(tools/[^`|]+)` \|([^\n]*)', text, re.M):
        match = TOOL.search(row[0])
        if match:
            out.append((match.group(1), row[0][match.end():] + row[1]))
    return out


#: Prints each tool's --help in one process (imports shared: seconds, not
#: a package import per tool), separated by a marker line. No tool imports
#: another, so each runs as ``python TOOL --help`` would.
_HELPS = r"""
import contextlib, io, runpy, sys
for tool in sys.argv[1:]:
    out = io.StringIO()
    sys.argv = [tool, '--help']
    with contextlib.redirect_stdout(out):
        try:
            runpy.run_path(tool, run_name='__main__')
        except SystemExit as e:
            code = e.code
        else:
            code = 'no exit'
    print(f'@@@ {tool} {code}')
    print(out.getvalue())
"""


@functools.lru_cache(maxsize=None)
def _all_help():
    tools = sorted(
        {t
         for page in PAGES
         for t, _ in _commands(page) if t.endswith('.py')}
        | {'tools/train.py'} | {s
                                for _, s in SHELL_OWN.values()})
    run = subprocess.run([sys.executable, '-c', _HELPS, *tools],
                         cwd=REPO,
                         capture_output=True,
                         text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    helps = {}
    for part in run.stdout.split('@@@ ')[1:]:
        head, _, body = part.partition('\n')
        tool, code = head.rsplit(' ', 1)
        assert code in ('0', 'None'), f'{tool} --help exited {code}'
        helps[tool] = set(FLAG.findall(body))
    return helps


def _help_flags(tool):
    return _all_help()[tool]


def _known(tool):
    if tool in TO_TRAIN:
        return _help_flags('tools/train.py')
    if tool in SHELL_OWN:
        own, script = SHELL_OWN[tool]
        return own | _help_flags(script)
    if tool.endswith('.py'):
        return _help_flags(tool)
    return None  # a shell script without flags of its own


@pytest.mark.parametrize('page', PAGES, ids=osp.basename)
def test_documented_flags_exist(page):
    wrong = []
    for tool, text in _commands(page):
        assert osp.exists(osp.join(REPO, tool)), f'{page}: no {tool}'
        known = _known(tool)
        if known is None:
            continue
        # flags of train.py that --cfg-options values could contain are
        # still flags; values like k=v never start with --
        for flag in FLAG.findall(text):
            if flag not in known:
                wrong.append(f'{tool} {flag}')
    assert not wrong, f'{osp.basename(page)} names flags the tools lack: ' \
        f'{sorted(set(wrong))}'


@pytest.mark.parametrize('page', PAGES, ids=osp.basename)
def test_links_resolve(page):
    text = open(page).read()
    for target in re.findall(r'\]\(([^)#\s]+)(?:#[^)]*)?\)', text):
        if '://' in target:
            continue
        assert osp.exists(osp.join(osp.dirname(page), target)), \
            f'{page}: link to missing {target}'


def test_readme_is_short():
    assert len(open(PAGES[0]).read().splitlines()) <= 200


def test_an_unknown_flag_is_caught(tmp_path):
    page = tmp_path / 'page.md'
    page.write_text('```bash\npython tools/train.py CFG --no-such-flag\n'
                    '```\n| `tools/test.py CONFIG CKPT` | `--out-dir` |\n')
    found = [(t, f) for t, text in _commands(str(page))
             for f in FLAG.findall(text) if f not in _known(t)]
    assert found == [('tools/train.py', '--no-such-flag'),
                     ('tools/test.py', '--out-dir')]
