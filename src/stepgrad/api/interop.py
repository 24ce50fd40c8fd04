"""PyTorch files and code (export, import), and the explorer in the browser (serve, site)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stepgrad.api._base import Note, _silent, load_spec
from stepgrad.api.options import ImportOptions
from stepgrad.core.errors import StepgradError
from stepgrad.core.files import write_atomic
from stepgrad.core.spec import Network, load


def export_torch(spec: str | None = None, *, output: str | None = None, code: str | None = None,
                 optimizer: str | None = None, keys: str | None = None, note: Note = _silent) -> None:
    """Write the network's weights as a PyTorch state_dict file, and/or a PyTorch training script (the [torch] extra).

    Args:
        spec: the network spec file; None for the seed deck's network.
        output: the .pt file to write (a state_dict of float64 tensors, keys as `stepgrad.to_torch` names them).
        code: a short, runnable .py script that builds and trains the same network (its first step equals
            stepgrad's).
        optimizer: the script's optimizer (None: the one the network was trained with, else sgd).
        keys: a state_dict file of your own model (torch.save(model.state_dict(), path)): the written keys are its
            own (fc1.weight ...), layer by layer; a layer whose shape differs is refused.
        note: called with "wrote FILE" and how to load it.

    Example:
        >>> export_torch(output="model.pt", code="train.py")   # the seed deck's network
        >>> import os
        >>> os.path.getsize("model.pt") > 0 and "torch" in open("train.py").read()
        True
    """
    import io

    if output is None and code is None:
        raise StepgradError("give -o FILE.pt (the weights) or --code FILE.py (a training script)", where="export")
    if keys is not None and output is None:
        raise StepgradError("--keys names the keys of the weights file: give -o FILE.pt too", where="--keys")
    net = load_spec(spec)
    if code is not None:
        from stepgrad.interop.code import training_code

        write_atomic(code, training_code(net, optimizer))
        note(f"wrote {code}: run it with python {code}")
    if output is not None:
        from stepgrad.interop.convert import describe, loss_advice, to_torch, torch_module

        buffer = io.BytesIO()
        if keys is not None:
            from stepgrad.interop.convert import state_dict_keyed

            torch_module().save(state_dict_keyed(net, keys), buffer)
            write_atomic(output, buffer.getvalue())
            note(f"wrote {output}: a state_dict with the keys of {keys}\n"
                 f"load it with: model.load_state_dict(torch.load({output!r}, weights_only=True))")
            return
        torch_module().save(to_torch(net).state_dict(), buffer)
        write_atomic(output, buffer.getvalue())
        note(f"wrote {output}: the state_dict of\n  model = {describe(net)}\n"
             f"load it with: model.load_state_dict(torch.load({output!r}, weights_only=True))")
        advice = loss_advice(net)
        if advice:
            note(f"note: {advice}")


def import_torch(model: str, *, options: ImportOptions = ImportOptions(), like: str | None = None,
                 fmt: str = "toml", note: Note = _silent) -> str:
    """A PyTorch state_dict of nn.Linear layers (read with weights_only=True) as stepgrad spec text.

    The spec's `[torch]` table names each layer's state_dict prefix, so every explanation of the spec names the
    weights as torch does.

    Args:
        model: the .pt file (as `stepgrad export` writes, or model.state_dict() of an nn.Sequential).
        options: what the file does not hold (layers to check, activations, loss, learning rate, biases).
        like: take everything but the weights and biases from this spec (its options win over the defaults).
        fmt: "toml" or "json".
        note: called with notes (a spec without samples yet).

    Returns:
        The spec text.

    Example:
        >>> export_torch(output="model.pt")   # the seed deck's weights, as PyTorch holds them
        >>> text = import_torch("model.pt", options=ImportOptions(layers="2-2-2", update_biases=False))
        >>> print(text[text.index("weights"):])
        weights = [
            [
                [0.15, 0.2],
                [0.25, 0.3],
            ],
            [
                [0.4, 0.45],
                [0.5, 0.55],
            ],
        ]
        biases = [0.35, 0.6]
        <BLANKLINE>
        [torch]
        modules = ["0", "2"]
        bias = [true, true]
        layers = [2, 2, 2]
        <BLANKLINE>
    """
    from stepgrad.core import persist
    from stepgrad.core.torch_record import table
    from stepgrad.interop.convert import build_network, check_layers, file_update_biases, linear_layers, read_state_dict

    if fmt not in ("toml", "json"):
        raise StepgradError(f"expected toml or json, got {fmt!r}", where="--format")
    layers, activation, loss = options.layers, options.activation, options.loss
    learning_rate, update_biases, shared_biases = options.learning_rate, options.update_biases, options.shared_biases
    base = load(like) if like else None
    wanted = _layers(layers) or (base.layers if base else None)
    dtypes: dict[str, str] = {}
    names, weights, biases = linear_layers(read_state_dict(model, dtypes), model)
    if wanted is not None:
        check_layers(weights, wanted, model, names, "--layers" if layers else f"--like {like}")
    settings: dict[str, Any] = {
        "loss": loss or (base.loss if base else "half_squared_error"),
        "learning_rate": learning_rate if learning_rate is not None else (base.learning_rate if base else 0.5),
        "trainable": [True] * len(weights) + file_update_biases(
            biases, update_biases if update_biases is not None else (base.update_biases if base else None)),
        "update_order": base.update_order if base else "synchronous",
        "shared_biases": {"auto": "auto", "yes": True, "no": False}[shared_biases],
        "name": base.name if base else "",
    }
    if base is not None:
        settings.update(inputs=base.inputs, targets=base.targets)
    acts = _activations(activation, len(weights)) if activation or base is None else base.activations
    net = build_network(weights, biases, acts, source=model, **settings)
    net.extra["torch"] = table("", [n.removesuffix("weight").rstrip(".") for n in names],
                               [b is not None for b in biases], options.dtype or "float64", list(net.layers))
    if options.dtype == "float32":
        note("note: the spec computes in float32 ([torch] dtype), as PyTorch computes a float32 model: explain, "
             "serve and train use float32 arithmetic (--dtype float64 for every digit exact)")
    elif options.dtype is None and "float32" in dtypes.values():
        note("note: the file's tensors are float32; the spec computes in float64 (every digit exact, PyTorch's own "
             "float32 step differs by about 1e-7 relative): import with --dtype float32 to compute as PyTorch does")
    if any(b is None for b in biases):
        note("note: layers without a bias (nn.Linear(bias=False)) have a bias fixed at 0 (update_biases false for "
             "them)")
    if net.inputs is None:
        note("note: the spec has no samples yet; add [[samples]] (or import with --like SPEC) "
             "before `stepgrad explain` or `train`")
    return persist.dumps(net, fmt)


def _layers(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        layers = [int(n) for n in value.replace(",", "-").split("-")]
    except ValueError:
        layers = []
    if len(layers) < 2 or min(layers) < 1:
        raise StepgradError(f"expected neurons per layer like 2-2-2, got {value!r}", where="--layers")
    return layers


def _activations(value: str | None, depth: int) -> list[str]:
    from stepgrad.core.functions import ACTIVATIONS

    names = [a.strip() for a in (value or "sigmoid").split(",") if a.strip()]
    for name in names:
        if name not in ACTIVATIONS:
            raise StepgradError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}", where="--activation")
    if len(names) == 1:
        return names * depth
    if len(names) != depth:
        raise StepgradError(f"give one activation or {depth} (one per layer), got {len(names)}", where="--activation")
    return names


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_explorer(spec: str | None = None, *, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
                   allow_hosts: Sequence[str] = (), max_work: float | None = None, time_limit: float | None = None,
                   note: Note = _silent) -> None:
    """Serve the interactive explorer for `spec` in the browser until interrupted (needs the [web] extra).

    Requests must name a loopback host, `host` or one of `allow_hosts` ("*" for any: DNS rebinding is
    refused otherwise); each training request may ask for `max_work` multiply-adds and run `time_limit`
    seconds (None: stepgrad.web.app's defaults, 2e10 and 30 s). `open_browser` opens the page.

    Example:
        >>> serve_explorer("net.toml", port=8080)  # doctest: +SKIP
    """
    from stepgrad.api.layer_kinds import drawable

    net = load_spec(spec, layer_tables=True)  # conv/pool/residual: the maps page (web/maps.py)
    try:
        import uvicorn

        from stepgrad.api.study_routes import routes as study_routes
        from stepgrad.web.app import create_app
        from stepgrad.web.sequence import is_sequence_network
    except ModuleNotFoundError as exc:
        raise StepgradError(f"stepgrad serve needs the web extra ({exc.name} is missing): "
                            "pip install 'stepgrad[web]'") from None
    if not isinstance(net, Network) and not is_sequence_network(net) and not drawable(net):
        raise StepgradError("the explorer shows dense networks, conv/pool/residual networks and sequence models "
                            "(rnn, attention, layernorm, batchnorm), not a mix of them", where=spec)
    if not is_loopback(host):
        note(f"stepgrad: warning: listening on {host}, not loopback: other machines can reach this "
             "server (it has no authentication)")
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    note(f"stepgrad explorer on {url} (Ctrl-C to stop)")
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    settings: dict[str, Any] = {"host": host, "allow_hosts": tuple(allow_hosts)}
    if max_work is not None:
        settings["max_work"] = max_work
    if time_limit is not None:
        settings["time_limit"] = time_limit
    uvicorn.run(create_app(net, **settings, extra_routes=study_routes()), host=host, port=port, log_level="warning")


def build_static_site(*, output: str | None = None, networks: Sequence[str] = (), note: Note = _silent) -> list[str]:
    """Write the explorer as a static site into the folder `output`, with its answers precomputed; the files written.

    `output` (required) is replaced whole (it must be new, empty or an earlier site); `networks` are bundled networks (default:
    the seed deck's). The answers are precomputed because stepgrad's core cannot run in the browser offline
    (stepgrad.web.site says why).

    Example:
        >>> build_static_site(output="course-site", networks=["mazur"])  # doctest: +SKIP
    """
    from pathlib import Path

    try:
        from stepgrad.web.site import build_site
    except ModuleNotFoundError as exc:
        raise StepgradError(f"stepgrad site needs the web extra ({exc.name} is missing): "
                            "pip install 'stepgrad[web]'") from None
    if not output:
        raise StepgradError("site: give the folder to write with -o DIR")
    files = build_site(Path(output), networks)
    note(f"stepgrad: wrote a static explorer of {len(networks) or 1} network(s) to {output}/ ({len(files)} files; "
         "serve it as plain files. Its answers are precomputed: editing and training need stepgrad serve)")
    return [str(f) for f in files]
