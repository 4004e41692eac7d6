// Everyday code computes in float32; Tensor<double> exists for finite-difference gradient checks.
global using Tensor = Mechanist.Numerics.Tensor<float>;
