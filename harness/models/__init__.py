"""The base task model: load it by source (fine-tuned, local, hub, random), fine-tune and cache it."""
