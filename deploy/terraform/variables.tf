variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"
}

variable "name_prefix" {
  description = "Prefix of every function, layer and role name."
  type        = string
  default     = "bootstrap-example"
}

variable "dist_dir" {
  description = <<-EOT
    Directory holding function.zip, runtime-py<X.Y>-<arch>.zip and deps-py<X.Y>-<arch>.zip.
    For Lambda, take the runtime zips from the Amazon Linux 2 images (Dockerfile.<arch>: glibc 2.26);
    `make dist` writes the same names from Debian packages, for local tests only (glibc 2.31+).
  EOT
  type        = string
  default     = "../../dist"
}

variable "functions" {
  description = <<-EOT
    One Lambda function per entry, all from the same function.zip. Moving a function to another
    CPU or Python changes only arch/python here: the matching runtime and deps layers follow.
  EOT
  type = map(object({
    arch    = string # x86_64 | arm64
    runtime = string # provided.al2023 | provided.al2
    python  = string # 3.9 | 3.11 (a runtime-py<python>-<arch>.zip must exist in dist_dir)
  }))
  default = {
    x86-al2023 = { arch = "x86_64", runtime = "provided.al2023", python = "3.9" }
    arm-al2023 = { arch = "arm64", runtime = "provided.al2023", python = "3.9" }
    x86-al2    = { arch = "x86_64", runtime = "provided.al2", python = "3.9" }
  }

  validation {
    condition = alltrue([for f in values(var.functions) :
      contains(["x86_64", "arm64"], f.arch) &&
      contains(["provided.al2", "provided.al2023"], f.runtime) &&
    contains(["3.9", "3.11"], f.python)])
    error_message = "arch must be x86_64|arm64, runtime provided.al2|provided.al2023, python 3.9|3.11."
  }
}

variable "with_deps_layer" {
  description = "Attach the deps-py<X.Y>-<arch> layer (layers/requirements.txt, e.g. MySQLdb) after the runtime layer."
  type        = bool
  default     = true
}

variable "memory_size" {
  type    = number
  default = 256
}

variable "timeout" {
  type    = number
  default = 10
}
