"""The smallest networks the tests train, in one place.

A test module adds what its tests need (epochs, batch size, device, seed) to these: they
learn little, but every code path runs in a fraction of a second.
"""

#: Width and depth of the tiniest S4 autoencoder or denoiser.
TINY_NETWORK = dict(hidden_channels=8, n_blocks=1)
#: A tiny autoencoder, two epochs.
TINY_AE = dict(TINY_NETWORK, n_latents=2, max_epochs=2, batch_size=8)
#: A tiny diffusion model, two epochs, five sampling steps.
TINY_DM = dict(TINY_NETWORK, max_epochs=2, batch_size=8, n_sampling_steps=5)
