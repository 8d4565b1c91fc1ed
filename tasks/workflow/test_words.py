import unittest

from solution import sort_words


class SortWords(unittest.TestCase):
    def test_sorted(self):
        self.assertEqual(sort_words("c b a"), "a b c")

    def test_ignores_case(self):
        self.assertEqual(sort_words("banana Apple cherry"), "Apple banana cherry")

    def test_single_spaces(self):
        self.assertEqual(sort_words("  b   a "), "a b")

    def test_empty(self):
        self.assertEqual(sort_words(""), "")


if __name__ == "__main__":
    unittest.main()
