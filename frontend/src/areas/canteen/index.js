// 餐卡消费: its pages come in their own issue; until then the tab says when.
export default {
  key: 'canteen',
  title: '餐卡消费',
  icon: 'balance-o',
  order: 3,
  comingSoon: { summary: '餐卡余额、在线充值与消费记录' },
}
