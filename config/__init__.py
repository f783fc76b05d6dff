"""Configuration: the YAML files users edit, and the code that loads and validates them."""

from config.errors import ConfigError, Problem
from config.loader import load_config, resolve_config_dir
from config.models import ChannelConfig, Config, FeedConfig, FetchSettings, RuleConfig, Settings
from config.secrets import mask_url

__all__ = [
    "ChannelConfig",
    "Config",
    "ConfigError",
    "FeedConfig",
    "FetchSettings",
    "Problem",
    "RuleConfig",
    "Settings",
    "load_config",
    "mask_url",
    "resolve_config_dir",
]
