"""Section 1.4: the digit recognizer, trained on MNIST for this report.

Two parts, each with its own cache entry so that a change of budget retrains only
what changed: the baseline (the sheet's kind of network, the ``mlp`` preset) and
the best model of the budget (``fast`` for ``quick``, ``best`` for ``full``).
Training is :func:`chainrule.mnist.train.train`; the confusion matrix and the
gallery of mistakes come from :mod:`chainrule.mnist.evaluate`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any

from chainrule.errors import ChainruleError
from chainrule.report.budget import Budget
from chainrule.report.document import Block, Code, Figure, Heading, Paragraph, Table
from chainrule.report.parts import Part, PartContext, PartOutput
from chainrule.show.notation import percent, short

GALLERY = 60
"""Most misclassified digits shown (the most confident mistakes first)."""

MODULES = ("chainrule.report.digits",)
"""The code of the comparison (with everything it imports)."""

TRAINING_MODULES = ("chainrule.mnist.train",)
ENGINE_MODULES = ("chainrule.mnist.numpy_train", "chainrule.tensor.graph")
"""The chainrule engine's trainer (the tensor engine with it) and the graph it draws."""
"""The code of a trained model: the trainer and what it imports, not the report's presentation
(training caches facts only; they are presented on every run)."""


def intro() -> list[Block]:
    """What section 1.4 asks."""
    return [Paragraph(
        "The sheet asks for a PyTorch network that recognizes handwritten digits with about 90% "
        "test accuracy, and above 95% for the bonus. The networks below were trained for this "
        "report with chainrule's trainer (`chainrule mnist train`); the last one is the "
        "baseline again, trained by chainrule's own backpropagation instead of PyTorch's."
    )]


def data_paragraph(facts: Mapping[str, Any]) -> Paragraph:
    """How much data the networks saw, counted in this run."""
    limited = facts["trained_on"] < facts["train_shape"][0] - facts["val_size"]
    return Paragraph(
        f"MNIST has {facts['train_shape'][0]:,} training images of "
        f"{facts['train_shape'][1]}×{facts['train_shape'][2]} pixels and {facts['test_size']:,} "
        f"test images. {facts['val_size']:,} training images are held out for validation, which "
        f"picks the epoch that is kept; the networks train on "
        + (f"only the first {facts['trained_on']:,} of the rest (this budget's subset)"
           if limited else f"the other {facts['trained_on']:,}")
        + ". The test images are used once, to report the accuracy, and choose nothing."
    )


def train_config(budget: Budget, preset: str, engine: Any = "torch") -> Any:
    """The preset's config for this machine, with the budget's overrides (its subset)."""
    from chainrule.mnist.train import machine_preset

    return machine_preset(preset, {**budget.train_overrides, "engine": engine})


def parts(budget: Budget) -> list[Part]:
    """The baseline and the best model (separately cached), then the comparison of the two."""
    roles = (("baseline", budget.baseline_preset), ("best", budget.best_preset),
             ("chainrule", budget.baseline_preset))  # the baseline by chainrule's backprop
    trained = [_training_part(budget, role, preset) for role, preset in roles]
    best = trained[1].id
    evaluation = Part(
        f"{best}-evaluation", "1.4 the best model on the test set: confusion matrix, mistakes",
        lambda ctx: evaluation_part(ctx, best), {"gallery": GALLERY},
        (*TRAINING_MODULES, "chainrule.mnist.evaluate"), 5.0,
        uses=(best,), present=present_evaluation,
    )
    comparison = Part(
        "1.4-comparison", "1.4 learning curves and comparison", comparison_part, {}, MODULES,
        1.0, uses=tuple(part.id for part in trained),
    )
    return [*trained, evaluation, comparison]


def _training_part(budget: Budget, role: str, preset: str) -> Part:
    from chainrule.mnist.config import asdict

    part_id = f"1.4-{role}-{preset}-{budget.name}"
    engine = "chainrule" if role == "chainrule" else "torch"
    return Part(
        part_id,
        f"1.4 training the {role} network (preset {preset})",
        _runner(budget, role, preset, part_id),
        {"config": asdict(train_config(budget, preset, engine)), "role": role},
        ENGINE_MODULES if engine == "chainrule" else TRAINING_MODULES,
        budget.estimates.get(role, budget.estimates["baseline"]),
        present=present_model,
    )


def _runner(budget: Budget, role: str, preset: str, part_id: str) -> Any:
    def run(ctx: PartContext) -> PartOutput:
        if role == "chainrule":
            return PartOutput([], {**train_with_chainrule(budget, preset, ctx, part_id),
                                   "role": role})  # fmt: skip
        facts = train_model(budget, preset, ctx, part_id)
        if role == "baseline":  # the data is described once, with the baseline
            facts.update(data_facts(train_config(budget, preset)))
        return PartOutput([], {**facts, "role": role})

    return run


def _recipe(config: Any) -> str:
    augment = (
        f"random rotations up to {short(config.rotate)}°, shifts up to "
        f"{short(config.translate * 100)}% and zoom up to {short(config.scale * 100)}%"
        if config.rotate or config.translate or config.scale else "no augmentation"
    )
    extras = []
    if config.label_smoothing:
        extras.append(f"label smoothing {short(config.label_smoothing)}")
    if config.ema_decay:
        extras.append(f"an exponential moving average of the weights (decay {config.ema_decay})")
    if config.weight_decay:
        extras.append(f"weight decay {short(config.weight_decay)}")
    return (
        f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}, batch size "
        f"{config.batch_size}, {config.optimizer} with peak learning rate {short(config.lr)} on a "
        f"{config.schedule} schedule, {augment}"
        + (f", {', '.join(extras)}" if extras else "")
    )


def _epoch_table(epochs: list[dict[str, Any]], best_epoch: int) -> Table:
    rows = tuple(
        (
            str(record["epoch"]) + (" (kept)" if record["epoch"] == best_epoch else ""),
            short(record["train_loss"], 4),
            percent(record["val_accuracy"]) if record.get("val_accuracy") is not None else "—",
            percent(record["test_accuracy"]) if record.get("test_accuracy") is not None else "—",
            short(record["seconds"], 3),
        )
        for record in epochs
    )
    return Table(("epoch", "training loss", "validation accuracy", "test accuracy", "seconds"),
                 rows, "Every epoch of the run; the kept epoch has the best validation accuracy.")


def learning_curves(runs: Mapping[str, list[dict[str, Any]]]) -> str:
    """Training loss every few steps and accuracies per epoch for each run, as SVG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure as PlotFigure

    figure = PlotFigure(figsize=(8.0, 3.2), layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    for label, epochs in runs.items():
        curve = [point for record in epochs for point in record.get("loss_curve", [])]
        if not curve:  # metrics written before loss curves were recorded: one point per epoch
            curve = [[record["epoch"], record["train_loss"]] for record in epochs]
        (line,) = loss_axes.plot(*zip(*curve, strict=True), "-", label=label)
        colour = line.get_color()  # one colour per run in both panels
        tested = [(r["epoch"], r["test_accuracy"]) for r in epochs if r.get("test_accuracy")]
        if tested:
            accuracy_axes.plot(*zip(*tested, strict=True), "o-", color=colour,
                               label=f"{label}: test")
        validated = [(r["epoch"], r["val_accuracy"]) for r in epochs if r.get("val_accuracy")]
        if validated:
            accuracy_axes.plot(*zip(*validated, strict=True), "s--", alpha=0.6, color=colour,
                               label=f"{label}: validation")
    loss_axes.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    accuracy_axes.xaxis.get_major_locator().set_params(integer=True)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def evaluation_part(ctx: PartContext, trained: str) -> PartOutput:
    """Evaluate the saved best checkpoint on the test set: statistics and the two pictures."""
    from chainrule.mnist import evaluate
    from chainrule.mnist.train import load_checkpoint

    checkpoint = ctx.keep(trained) / "best.pt"
    if not checkpoint.is_file():
        raise ChainruleError(f"{checkpoint} is missing: run the report with --fresh")
    model, config = load_checkpoint(checkpoint)
    evaluation = evaluate.evaluate_model(model, config)
    return PartOutput([], {
        "correct": evaluation.correct, "total": evaluation.total,
        "accuracy": evaluation.accuracy, "misclassified": evaluation.misclassified,
        "most_confused": evaluation.most_confused(3),
        "classes": [list(row) for row in zip(evaluation.class_names, evaluation.support,
                                              evaluation.precision, evaluation.recall,
                                              strict=True)],
        "confusion_png": base64.b64encode(evaluate.plot_confusion(evaluation)).decode(),
        "gallery_png": base64.b64encode(
            evaluate.plot_misclassified(evaluation, max_images=GALLERY)).decode(),
    })


def present_evaluation(facts: Mapping[str, Any]) -> list[Block]:
    """The best model on the test set: counts, per-digit table, confusion matrix, mistakes."""
    wrong = facts["misclassified"]
    shown = f"the {GALLERY} most confident of the {wrong:,}" if wrong > GALLERY else f"all {wrong}"
    confused = ", ".join(f"a {true} taken for a {predicted} ({count} times)"
                         for true, predicted, count in facts["most_confused"])
    rows = tuple((digit, f"{support:,}", percent(precision), percent(recall))
                 for digit, support, precision, recall in facts["classes"])
    return [
        Heading("The best model on the test set", 4),
        Paragraph(
            f"{facts['correct']:,} of {facts['total']:,} test digits right "
            f"({percent(facts['accuracy'])}), {wrong:,} wrong"
            + (f"; the most frequent confusions: {confused}." if confused else ".")
        ),
        Table(("digit", "test images", "precision", "recall"), rows,
              "Per digit: of the images predicted as it, the share that are it (precision); of "
              "the images that are it, the share found (recall)."),
        Figure("confusion-best", "Confusion matrix on the test set: rows are the true digits, "
               "columns the predicted ones.", png=base64.b64decode(facts["confusion_png"]),
               width=0.7),
        Figure("mistakes-best", f"Test digits the model gets wrong ({shown} mistakes): the "
               "predicted digit and its probability above each, the true one below.",
               png=base64.b64decode(facts["gallery_png"]), width=0.9),
    ]


def train_model(budget: Budget, preset: str, ctx: PartContext, part_id: str) -> dict[str, Any]:
    """Train one model (its checkpoints kept for the evaluation); what the report shows of it."""
    from chainrule.mnist.config import asdict
    from chainrule.mnist.models import count_parameters
    from chainrule.mnist.train import train

    config = train_config(budget, preset)
    result = train(config, out_dir=ctx.keep(part_id), progress=ctx.show_progress)
    modules = list(result.model.modules())
    return {
        "preset": preset, "config": asdict(config), "test_accuracy": float(result.test_accuracy),
        "val_accuracy": None if result.val_accuracy is None else float(result.val_accuracy),
        "seconds": float(result.seconds), "parameters": count_parameters(result.model),
        "epochs": result.epochs, "best_epoch": result.best_epoch, "network": str(result.model),
        "layers": sum(type(m).__name__ in ("Linear", "Conv2d") for m in modules),
        "activations": sorted({type(m).__name__ for m in modules
                               if type(m).__module__.endswith("activation")}),
    }


def train_with_chainrule(
    budget: Budget, preset: str, ctx: PartContext, part_id: str
) -> dict[str, Any]:
    """The baseline network trained by chainrule's own backpropagation, and its tensor graph."""
    from chainrule.mnist.config import asdict
    from chainrule.mnist.numpy_train import step_graph, train
    from chainrule.tensor.graph import draw, explain

    config = train_config(budget, preset, "chainrule")
    result = train(config, out_dir=ctx.keep(part_id), progress=ctx.show_progress)
    loss = step_graph(result.network, batch=32, data_dir=config.data_dir)
    svg = draw(loss, "svg")
    return {
        "preset": preset, "config": asdict(config), "test_accuracy": float(result.test_accuracy),
        "val_accuracy": None if result.val_accuracy is None else float(result.val_accuracy),
        "seconds": float(result.seconds), "epochs": result.epochs,
        "best_epoch": result.best_epoch, "network": repr(result.network),
        "parameters": sum(p.data.size for p in result.network.parameters()),
        "graph_svg": svg if isinstance(svg, str) else "", "backward": explain(loss),
    }


def present_chainrule(facts: Mapping[str, Any], title: str) -> list[Block]:
    """The same network as the baseline, trained by chainrule: its graph and backward pass."""
    return [
        Heading(title, 3, "model-chainrule"),
        Paragraph(
            "The baseline's network and recipe once more, but the forward and backward passes "
            "are chainrule's own tensors (`chainrule mnist train --preset mlp --engine "
            "chainrule`): the elementwise operations and their derivatives come from the same "
            "op registry as sections 1.1–1.2, applied to whole arrays, and `backward()` walks "
            "the recorded graph in reverse as the scalar engine does. "
            f"{facts['parameters']:,} trainable parameters, trained for "
            f"{short(facts['seconds'], 3)} s. **Test accuracy: "
            f"{percent(facts['test_accuracy'])}** (validation "
            f"{percent(facts['val_accuracy'] or 0)}, epoch {facts['best_epoch']} kept)."
        ),
        Figure("tensor-graph", "The graph chainrule records for one batch of 32 images: "
               "shapes on the nodes, the backward rule of each operation on its edges.",
               svg=facts["graph_svg"] or None),
        Code(facts["backward"]),
        _epoch_table(facts["epochs"], facts["best_epoch"]),
    ]


def present_model(facts: Mapping[str, Any]) -> list[Block]:
    """One trained network: what it is, how it was trained, how well it does."""
    from chainrule.mnist.config import TrainConfig

    config = TrainConfig.from_dict(dict(facts["config"]))
    preset, role = facts["preset"], facts["role"]
    if role == "chainrule":
        return present_chainrule(
            facts, f"The same network trained by chainrule's own backpropagation (preset {preset})"
        )
    title = (f"Baseline: the sheet's kind of network (preset {preset})" if role == "baseline"
             else f"The best model of this run (preset {preset})")
    blocks: list[Block] = [data_paragraph(facts)] if role == "baseline" else []
    return [
        *blocks,
        Heading(title, 3, f"model-{role}"),
        Paragraph(
            f"{facts['parameters']:,} trainable parameters, trained for "
            f"{short(facts['seconds'], 3)} s with {_recipe(config)}. **Test accuracy: "
            f"{percent(facts['test_accuracy'])}** (validation "
            f"{percent(facts['val_accuracy'] or 0)}, epoch {facts['best_epoch']} kept)."
        ),
        Code(facts["network"]),
        _epoch_table(facts["epochs"], facts["best_epoch"]),
    ]


def data_facts(config: Any) -> dict[str, Any]:
    """What the data looks like as tensors (quoted by the answer on tensors)."""
    from pathlib import Path

    from chainrule.mnist.data import load_mnist

    folder = Path(config.data_dir) if config.data_dir else None
    images, labels = load_mnist("train", folder)
    test_images, _ = load_mnist("test", folder)
    available = len(images) - config.val_size
    return {
        "test_size": len(test_images),
        "trained_on": min(config.limit_train, available) if config.limit_train else available,
        "train_shape": list(images.shape), "train_dtype": str(images.dtype).replace("torch.", ""),
        "labels_shape": list(labels.shape), "labels_dtype": str(labels.dtype).replace("torch.", ""),
        "val_size": config.val_size,
    }


def _engine_name(run: Mapping[str, Any]) -> str:
    return "chainrule" if run["config"].get("engine") == "chainrule" else "PyTorch"


def comparison_part(ctx: PartContext) -> PartOutput:
    """Both models side by side, and their learning curves."""
    from chainrule.mnist.config import LOSS_CURVE_STEPS

    runs = [facts for facts in ctx.facts.values() if "epochs" in facts]
    rows = tuple(
        (run["role"], run["preset"], _engine_name(run), f"{run['parameters']:,}",
         short(run["seconds"], 3), percent(run["test_accuracy"]))
        for run in runs
    )
    curves = {f"{run['role']} ({run['preset']}, {_engine_name(run)})": run["epochs"]
              for run in runs}
    blocks: list[Block] = [
        Heading("Learning curves and comparison", 3, "model-comparison"),
        Table(("model", "preset", "backpropagation", "parameters", "training time (s)",
               "test accuracy"), rows, "The networks trained for this report."),
        Figure("learning-curves", "Learning curves: training loss averaged over every "
               f"{LOSS_CURVE_STEPS} steps, and accuracy after every epoch.",
               svg=learning_curves(curves)),
    ]
    return PartOutput(blocks, {})
