"""Training a small CNN on the 8x8 digits as images: the same batches in PyTorch give the same parameters
(float64, 1e-9 relative after every step of an epoch), and a few epochs learn the digits."""

from __future__ import annotations

import numpy as np
import pytest

from layer_helpers import DIGITS_CNN, assert_close_parameters, digits_cnn_torch, torch_cross_entropy_epochs
from stepgrad.core.layers.spec import LayerNetwork
from stepgrad.training.data import Dataset, bundled
from stepgrad.training.layered import accuracy, as_images, fit_layers

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

@pytest.mark.slow  # loads scikit-learn and torch (several seconds)
def test_an_epoch_matches_pytorch_on_the_same_batches() -> None:
    images = as_images(bundled("digits"), (1, 8, 8))
    train = Dataset(images.inputs[:320], images.targets[:320], "digits")
    net = LayerNetwork.from_dict(DIGITS_CNN)
    model = digits_cnn_torch(net)
    torch_cross_entropy_epochs(model, torch.optim.SGD(model.parameters(), lr=0.5), train, epochs=1, batch=32)
    trained = fit_layers(net, train, epochs=1, batch_size=32).network
    ours = [trained.layers[0].params["kernel"], trained.layers[0].params["bias"],
            trained.layers[3].params["weight"], trained.layers[3].params["bias"]]
    for mine, theirs in zip(ours, model.parameters(), strict=True):
        assert_close_parameters(mine, theirs)


@pytest.mark.slow
def test_a_small_cnn_learns_the_digits() -> None:
    train, test = as_images(bundled("digits"), (1, 8, 8)).split(0.2, seed=0)
    assert test is not None
    net = LayerNetwork.from_dict(DIGITS_CNN)
    before = accuracy(net, test)
    history = fit_layers(net, train, test, epochs=4, batch_size=32)
    assert history.accuracies[-1] > 0.9 > before
    assert history.errors[-1] < history.errors[0]


def test_the_train_command_on_a_conv_spec(tmp_path, capsys) -> None:
    import json

    from stepgrad.cli import main
    from stepgrad.core.layers import engine

    spec = tmp_path / "cnn.json"
    spec.write_text(json.dumps({**DIGITS_CNN, "samples": [
        {"inputs": np.linspace(0, 1, 64).reshape(8, 8).tolist(), "targets": 3},
        {"inputs": np.linspace(1, 0, 64).reshape(8, 8).tolist(), "targets": 7}]}))
    main(["train", str(spec), "--iterations", "3", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    net = LayerNetwork.from_dict(json.loads(spec.read_text()))
    errors = []
    for _ in range(3):  # the same full-batch steps, by the engine directly
        rec = engine.step(net, net.inputs, net.targets)
        errors.append(rec.forward.error)
        engine.apply(net, rec)
    assert report["E_total"] == pytest.approx(errors, rel=1e-12)
    with pytest.raises(SystemExit) as exit_:
        main(["train", str(spec), "--save", str(tmp_path / "out.toml")])
    assert exit_.value.code == 2 and "--save: --save is not supported" in capsys.readouterr().err
