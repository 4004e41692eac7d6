// Everyday autograd runs in float32; Var<double> exists for finite-difference checks.
global using Var = Mechanist.Autograd.Var<float>;
