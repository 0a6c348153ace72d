"""Published files and downloads: names carry a hash that is checked, and
every URL has its own cache entry."""
import functools
import hashlib
import http.server
import os
import os.path as osp
import threading

import pytest
import torch

from mmsemanticmim.checkpoint import publish_checkpoint, read_checkpoint
from mmsemanticmim.checkpoint.reading import download_path
from helpers import REPO, run_tool


def _training_checkpoint(path):
    model = torch.nn.Linear(3, 2)
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(semanticmim_backbone=dict(num_proxy_tokens=4)),
            optimizer=dict(state={}, param_groups=[]),
            message_hub=dict(log_scalars={})), path)
    return model


def test_publish_keeps_weights_and_meta_named_by_hash(tmp_path):
    src = str(tmp_path / 'epoch_1.pth')
    model = _training_checkpoint(src)
    dst = publish_checkpoint(src, str(tmp_path / 'tiny'), date='20261207')
    name = osp.basename(dst)
    assert name.startswith('tiny_20261207-') and name.endswith('.pth')
    digest = hashlib.sha256(open(dst, 'rb').read()).hexdigest()
    assert name == f'tiny_20261207-{digest[:8]}.pth'
    ckpt = torch.load(dst, weights_only=True)
    assert sorted(ckpt) == ['meta', 'state_dict']
    assert ckpt['meta']['semanticmim_backbone'] == dict(num_proxy_tokens=4)
    assert torch.equal(ckpt['state_dict']['weight'], model.weight)
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.tmp')]
    # the tool: same file, same name
    run = run_tool('tools/model_converters/publish_model.py', src,
                   str(tmp_path / 'again'), '--date', '20261207')
    assert run.returncode == 0, run.stderr[-2000:]
    assert f'again_20261207-{digest[:8]}.pth' in run.stdout


@pytest.fixture
def server(tmp_path):
    """An http server over ``tmp_path/www``."""
    root = tmp_path / 'www'
    root.mkdir()
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()


def test_urls_with_one_file_name_never_share_a_cache_entry(
        server, tmp_path, monkeypatch):
    root, base = server
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'hub'))
    for sub, value in (('a', 1.0), ('b', 2.0)):
        (root / sub).mkdir()
        torch.save(
            dict(state_dict=dict(w=torch.tensor(value))),
            root / sub / 'model.pth')
    first = read_checkpoint(f'{base}/a/model.pth')['state_dict']['w']
    second = read_checkpoint(f'{base}/b/model.pth')['state_dict']['w']
    assert (first.item(), second.item()) == (1.0, 2.0)
    assert download_path(f'{base}/a/model.pth') != \
        download_path(f'{base}/b/model.pth')


def test_hash_in_the_name_is_checked(server, tmp_path, monkeypatch):
    root, base = server
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'hub'))
    src = str(tmp_path / 'epoch_1.pth')
    _training_checkpoint(src)
    good = publish_checkpoint(src, str(root / 'tiny'), date='20261207')
    url = f'{base}/{osp.basename(good)}'
    assert 'state_dict' in read_checkpoint(url)
    # a cached copy that no longer matches its name is fetched again
    cached = download_path(url)
    with open(cached, 'ab') as f:
        f.write(b'garbage')
    assert 'state_dict' in read_checkpoint(url)
    assert open(cached, 'rb').read() == open(good, 'rb').read()
    # a served file whose content does not match the name is refused
    bad = root / osp.basename(good).replace('tiny_', 'other_')
    torch.save(dict(state_dict={}), bad)
    with pytest.raises(RuntimeError, match='invalid hash value'):
        read_checkpoint(f'{base}/{bad.name}')
    assert not osp.exists(download_path(f'{base}/{bad.name}'))


def test_repository_files():
    """LICENSE (Apache-2.0, as setup.py says) and a citation of the
    software and the paper."""
    import yaml
    with open(osp.join(REPO, 'LICENSE')) as f:
        assert 'Apache License' in f.read(200)
    with open(osp.join(REPO, 'CITATION.cff')) as f:
        cff = yaml.safe_load(f)
    assert cff['license'] == 'Apache-2.0'
    assert '2406.10673' in cff['preferred-citation']['url']


def test_only_release_names_carry_a_hash():
    from mmsemanticmim.checkpoint.reading import url_hash_prefix
    assert url_hash_prefix('https://h/x/tiny_20261207-0c754a1a.pth') == \
        '0c754a1a'
    # a date or a version in another name is not a checksum
    for url in ('https://h/model-20240101.pth', 'https://h/vit-1a2b3c4d.pth',
                'https://h/epoch_1.pth'):
        assert url_hash_prefix(url) is None, url
