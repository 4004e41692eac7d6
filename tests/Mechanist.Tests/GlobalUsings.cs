global using Tensor = Mechanist.Numerics.Tensor<float>;
