"""Train mazur in PyTorch: the model, loss and optimizer of its stepgrad spec (stepgrad export --code)."""

import torch
import torch.nn.functional as F
from torch import nn

torch.set_default_dtype(torch.float64)

model = nn.Sequential(
    nn.Linear(2, 2),
    nn.Sigmoid(),
    nn.Linear(2, 2),
    nn.Sigmoid(),
)
linears = [m for m in model if isinstance(m, nn.Linear)]
with torch.no_grad():  # the spec's weights and biases (a shared bias: one per neuron)
    linears[0].weight.copy_(torch.tensor([[0.15, 0.2], [0.25, 0.3]]))
    linears[0].bias.copy_(torch.tensor([0.35, 0.35]))
    linears[1].weight.copy_(torch.tensor([[0.4, 0.45], [0.5, 0.55]]))
    linears[1].bias.copy_(torch.tensor([0.6, 0.6]))
for linear in linears:  # the spec does not train its biases
    linear.bias.requires_grad_(False)

inputs = torch.tensor([[0.05, 0.1]])
targets = torch.tensor([[0.01, 0.99]])


def loss_fn(output, target):
    """stepgrad's E_total: half squared error per sample, then the mean over the samples."""
    return (0.5 * ((target - output) ** 2).sum(dim=1)).mean()


optimizer = torch.optim.SGD(model.parameters(), lr=0.5)


def step(x, t):
    """One training step on a batch; returns its loss before the step."""
    optimizer.zero_grad()
    loss = loss_fn(model(x), t)
    loss.backward()
    optimizer.step()
    return loss.item()


def main():
    for iteration in range(1000):
        loss = step(inputs, targets)
        if iteration % 100 == 0:
            print(f'iteration {iteration}: E_total {loss:.9f}')
    with torch.no_grad():
        print('outputs:', model(inputs).tolist())


if __name__ == "__main__":
    main()
