// The public C header as the library's own sources see it: its functions exported, everything
// else hidden (the library is built with -fvisibility=hidden).
#pragma once

#pragma GCC visibility push(default)
#include "ibot4j.h"
#pragma GCC visibility pop
