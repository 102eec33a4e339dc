// EGE-UNet, the network the Hadamard-product modules make.
export { EgeUNet, type EgeUNetOptions, type EgeUNetOutput, type EgeUNetOutputGrads } from './network';
