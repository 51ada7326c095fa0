"""The base task model: load it by source (fine-tuned, local, hub, random, replayed structure),
fine-tune and cache it.
"""
