//! Neural blueprint tasks on burn (pretrained CNN backbones, sentence embeddings, deep nets).
