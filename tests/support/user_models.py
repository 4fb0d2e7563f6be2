"""A user's torch models, as the source of their module: one sound, others broken on purpose
(NaN outputs, diverging, constant, wrong shape, random at inference). The pipeline-test suites
write it into a user's project and name its classes as model factories."""

MODEL_CLASSES = '''import torch
from torch import nn


class Linear(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.Linear(config["n_inputs"], config["n_outputs"])

    def forward(self, x):
        return self.layer(x)


class Nan(Linear):
    def forward(self, x):
        return self.layer(x) * float("nan")


class Diverging(Linear):
    """Every call scales its output up: the loss grows whatever the optimiser does."""

    def __init__(self, config):
        super().__init__(config)
        self.register_buffer("scale", torch.ones(()))

    def forward(self, x):
        if self.training:
            self.scale.mul_(4.0)
        return self.layer(x) * self.scale


class Constant(Linear):
    """Its output ignores the input and every trainable weight: it cannot learn."""

    def forward(self, x):
        return torch.zeros(x.shape[0], self.layer.out_features) + 0.0 * self.layer.bias.sum()


class Flat(Linear):
    def forward(self, x):
        return self.layer(x)[:, 0]


class Noisy(Linear):
    """Random noise in eval mode too: onnxruntime cannot give torch's numbers."""

    def forward(self, x):
        return self.layer(x) + torch.rand(x.shape[0], self.layer.out_features) * 10
'''
