"""Train the FCRL benchmark's own FCRL and MaxEnt-ARL models (its PyTorch code, unchanged) on
the split fairbinn-sweep's trials see, and score them by the benchmark's protocol, to compare
with `results/adult_paper_baselines` (see docs/results.md). Not a dependency of the tool: run
by hand in a virtual environment with torch, scikit-learn, pandas, python-box, dill and the
`fairbinn_sweep` wheel (for the split).

    python docs/cross-checks/fcrl_reference.py <umgupta/fairness-via-contrastive-estimation> \
        experiments/adult_paper_baselines.yaml fcrl 0.1 0.5 2 --seeds 0 1

prints one line per (method, weight, seed): the five MLP(50)s' mean test accuracy and largest
hard and soft ΔDP, and the model's own predictor's test accuracy and hard ΔDP.
"""

import argparse
import importlib.util
import sys
import types

import numpy as np
import torch
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import fairbinn_sweep


def stub(name, **attrs):
    """The reference's trainer module imports TensorBoard; its models do not need it."""
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gaps(p, groups):
    rates = [p[groups == g].mean() for g in np.unique(groups)]
    return max(rates) - min(rates)


def downstream(z_train, y_train, z_test, y_test, groups, runs=5):
    scaler = StandardScaler().fit(z_train)
    z_train, z_test = scaler.transform(z_train), scaler.transform(z_test)
    acc, hard, soft = [], [], []
    for run in range(runs):
        mlp = MLPClassifier(hidden_layer_sizes=(50,), max_iter=1000, n_iter_no_change=10,
                            random_state=run).fit(z_train, y_train)
        p = mlp.predict_proba(z_test)[:, 1]
        acc.append(((p > 0.5) == y_test).mean())
        hard.append(gaps((p > 0.5).astype(float), groups))
        soft.append(gaps(p, groups))
    return np.mean(acc), max(hard), max(soft)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("experiment")
    parser.add_argument("method", choices=["fcrl", "maxent-arl"])
    parser.add_argument("weights", type=float, nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args()
    sys.path.insert(0, args.reference)
    stub("torch.utils.tensorboard", SummaryWriter=object)

    split = fairbinn_sweep.load_split(args.experiment)
    x_train = torch.tensor(split.train.X.to_numpy(), dtype=torch.float32)
    x_test = torch.tensor(split.test.X.to_numpy(), dtype=torch.float32)
    c_train = torch.tensor(split.train.groups.cat.codes.to_numpy(), dtype=torch.long).view(-1, 1)
    c_test = torch.tensor(split.test.groups.cat.codes.to_numpy(), dtype=torch.long).view(-1, 1)
    y_train = torch.tensor(split.train.y, dtype=torch.long).view(-1, 1)
    y_test = split.test.y
    y_test_t = torch.tensor(y_test, dtype=torch.long).view(-1, 1)
    groups_test = split.test.groups.cat.codes.to_numpy()
    n, d = x_train.shape
    k = len(split.group_names)
    c_type = "binary" if k == 2 else "one_hot"

    for weight in args.weights:
        for seed in args.seeds:
            torch.manual_seed(seed)
            if args.method == "fcrl":
                from src.models.fcrl_model import FCRL
                arch = load(f"{args.reference}/src/arch/adult/adult_fcrl.py", "arch").get_arch(
                    (d,), 8, 2, "binary", k, c_type)
                model = FCRL(c_type, k, "binary", 2, 8, arch.predictor, arch.encoder,
                             arch.nce_estimator, "gaussian", weight / 2, weight)
                optimizers = [(torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4),
                               lambda loss, aux: loss)]
            else:
                from src.models.maxent_arl_model import MaxentARL
                arch = load(f"{args.reference}/src/arch/adult/adult_maxent_arl.py",
                            "arch").get_arch((d,), 8, 2, "binary", k, c_type)
                model = MaxentARL(arch.predictor, arch.discriminator, arch.encoder, 8, weight,
                                  c_type, k, "binary", 2)
                model_params = list(model._encoder.parameters()) + list(
                    model._predictor.parameters())
                # The trainer: the model's step on even iterations, the discriminator's on odd.
                optimizers = [
                    (torch.optim.Adam(model_params, lr=1e-4, weight_decay=1e-4),
                     lambda loss, aux: aux["pred_loss"] + weight * aux["entropy"]),
                    (torch.optim.Adam(model._discriminator.parameters(), lr=1e-4,
                                      weight_decay=1e-4),
                     lambda loss, aux: aux["disc_loss"]),
                ]
            step = 0
            for _ in range(args.epochs):
                order = torch.randperm(n)
                for start in range(0, n, 128):
                    rows = order[start:start + 128]
                    batch = [x_train[rows], c_train[rows], y_train[rows]]
                    optimizer, objective = optimizers[step % len(optimizers)]
                    loss, aux = model.loss(model(batch), batch)
                    objective(loss, aux).backward()
                    optimizer.step()
                    for o, _ in optimizers:
                        o.zero_grad()
                    step += 1
            model.eval()
            with torch.no_grad():
                train_out = model([x_train, c_train, y_train])
                test_out = model([x_test, c_test, y_test_t])
            if args.method == "fcrl":
                # The benchmark encodes with a sample of z; its own predictor reads the sample.
                z_train, z_test = train_out.z_sample.numpy(), test_out.z_sample.numpy()
            else:
                z_train, z_test = train_out.f.numpy(), test_out.f.numpy()
            own = torch.sigmoid(test_out.y_hat).numpy().ravel()
            acc, hard, soft = downstream(z_train, split.train.y, z_test, y_test, groups_test)
            print(f"{args.method} weight={weight} seed={seed}: downstream accuracy {acc:.4f} "
                  f"ΔDP hard {hard:.4f} soft {soft:.4f}; own predictor accuracy "
                  f"{((own > 0.5) == y_test).mean():.4f} ΔDP hard "
                  f"{gaps((own > 0.5).astype(float), groups_test):.4f}", flush=True)


if __name__ == "__main__":
    main()
