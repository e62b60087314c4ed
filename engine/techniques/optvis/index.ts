// The image-optimization toolkit (Lucid's optvis split): objectives, parameterizations,
// transforms, optimizers and the loop. A technique is mostly a new combination of these.

export * from './objectives';
export * from './param';
export * from './transforms';
export * from './optimizers';
export * from './loop';
