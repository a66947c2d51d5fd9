// ibot4j gloo-decl: stand-in for <gloo/common/error.h>.
//
// Why this exists: see gloo/algorithm.h. ProcessGroupGloo.hpp needs nothing
// from this header, so it declares NOTHING (no types, no data members).
//
// Note for callers: gloo failures reach us UNWRAPPED through Work::wait():
// a dead/hung peer throws gloo::IoException (: gloo::Exception :
// std::runtime_error), a bad rank throws gloo::EnforceNotMet (: std::exception,
// and the real one HAS data members). Catch them as std::exception / read
// what(); the dynamic type name is available via
// abi::__cxa_current_exception_type(). We deliberately do not declare them.
#pragma once
