output "functions" {
  description = "Function name => arch, runtime, python and the layers it uses."
  value = {
    for k, f in aws_lambda_function.fn : f.function_name => {
      arch    = var.functions[k].arch
      runtime = f.runtime
      python  = var.functions[k].python
      layers  = f.layers
    }
  }
}

output "runtime_layers" {
  value = { for k, l in aws_lambda_layer_version.runtime : k => l.arn }
}

output "deps_layers" {
  value = { for k, l in aws_lambda_layer_version.deps : k => l.arn }
}
