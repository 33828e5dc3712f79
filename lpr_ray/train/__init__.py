"""Training LPRNet models with PyTorch and CTC loss (`lpr-ray train`).

Modules: `config` (TrainConfig), `data` (synthetic and TAO data, augmentation), `loop`
(the training loop), `checkpoint` (atomic save/load, resume, fine-tuning), `evaluation`
(accuracy of a torch model on arrays). Everything here needs the `train` extra (torch).
"""
