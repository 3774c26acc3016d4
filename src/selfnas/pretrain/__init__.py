"""Self-supervised objectives (arch2vec VGAE, locality metric learning, NAO autoencoder)."""
