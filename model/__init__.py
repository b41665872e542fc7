"""microgpt in numpy: `from model import load_model`."""
from .gpt import BOS, Config, decode, encode, n_params
from .lm import Model, load_model
from .weights import DEFAULT_WEIGHTS, SHIPPED_SHA256, WeightsError, file_sha256, load_weights, save_weights

__all__ = ["BOS", "Config", "DEFAULT_WEIGHTS", "SHIPPED_SHA256", "Model", "WeightsError", "decode", "encode",
           "file_sha256", "load_model", "load_weights", "n_params", "save_weights"]
